# Serves one client and ends: the accept is not in a loop.
from socket import AF_INET, SOCK_STREAM, socket

serverPort = 12000
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(("", serverPort))
serverSocket.listen(1)
print("The server is ready to receive")
connectionSocket, addr = serverSocket.accept()
sentence = connectionSocket.recv(1024).decode()
connectionSocket.send(sentence.upper().encode())
connectionSocket.close()
