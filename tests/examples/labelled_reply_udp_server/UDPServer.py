# Labels its reply, as the client's print should.
from socket import AF_INET, SOCK_DGRAM, socket

serverPort = 12000
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(("", serverPort))
print("The server is ready to receive")
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    reply = "From server: " + message.decode().upper()
    serverSocket.sendto(reply.encode(), clientAddress)
