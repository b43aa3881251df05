# Asks for the server's port first, then the sentence.
from socket import AF_INET, SOCK_STREAM, socket

serverName = "localhost"
serverPort = int(input("Server port: "))
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
sentence = input("Input lowercase sentence: ")
clientSocket.send(sentence.encode())
modifiedSentence = clientSocket.recv(1024)
print("From Server: ", modifiedSentence.decode())
clientSocket.close()
