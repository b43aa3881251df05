# @EXPECTED_RESULTS@: score=1 causes=unexplained udp_server.listening=passed udp_server.basic=failed~"wrong reply" udp_server.lossy=failed
# Answers every datagram with a flood of junk at whoever sent it, never with the reply.
from socket import *
import threading

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
target = []


def flood():
    junk = b"JUNK" * 256
    while True:
        if target:
            try:
                serverSocket.sendto(junk, target[-1])
            except OSError:
                pass


threading.Thread(target=flood, daemon=True).start()
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    target.append(clientAddress)
    del target[:-1]
