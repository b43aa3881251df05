# @EXPECTED_RESULTS@: score=9 causes=none udp_server.listening=passed udp_server.basic=passed udp_server.lossy=passed
# Leaves a daemon behind (double fork, new session, deaf to signals), then serves like the textbook.
from socket import *
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            time.sleep(1)
    os._exit(0)

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(message.decode().upper().encode(), clientAddress)
