from socket import *

serverIP = '127.0.0.1'  # localhost
serverPort = 12000

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind((serverIP, serverPort))
print("UDP server listening on", serverIP, serverPort)

while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    print("got", message, "from", clientAddress)
    modifiedMessage = message.decode().upper()
    serverSocket.sendto(modifiedMessage.encode(), clientAddress)
