# Port from the command line, as some course notes write it: `python UDPServer.py 12000`.
import sys
from socket import AF_INET, SOCK_DGRAM, socket

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(("", serverPort))
print("The server is ready to receive")
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(message.decode().upper().encode(), clientAddress)
