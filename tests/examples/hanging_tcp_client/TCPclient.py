from socket import *
serverName = 'localhost'
serverPort = 12000
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
sentence = input('Input lowercase sentence:')
clientSocket.send(sentence.encode())
# keep reading in case the reply comes in more than one piece
while True:
    modifiedSentence = clientSocket.recv(1024)
    if modifiedSentence:
        print('From Server: ', modifiedSentence.decode())
clientSocket.close()
