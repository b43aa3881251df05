# Loops for more input after the first reply: the textbook client, wrapped in `while True`.
from socket import AF_INET, SOCK_DGRAM, socket

serverName = "localhost"
serverPort = 12000
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(2)
while True:
    message = input("Input lowercase sentence: ")
    clientSocket.sendto(message.encode(), (serverName, serverPort))
    modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
    print(modifiedMessage.decode())
