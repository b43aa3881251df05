# Replies with the length of the line, a different exercise's transform.
from socket import AF_INET, SOCK_DGRAM, socket

serverPort = 12000
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(("", serverPort))
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(str(len(message.decode())).encode(), clientAddress)
