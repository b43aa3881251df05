# @EXPECTED_RESULTS@: score=1 causes=reply-wrong-socket udp_server.listening=passed udp_server.basic=failed~"came from another socket" udp_server.two_clients=failed
# Receives on port 12000 but answers from a fresh socket, so the reply comes from another port.
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    replySocket = socket(AF_INET, SOCK_DGRAM)
    replySocket.sendto(message.decode().upper().encode(), clientAddress)
    replySocket.close()
