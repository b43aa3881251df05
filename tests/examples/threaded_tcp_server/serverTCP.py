from socket import *
import threading

serverPort = 12000


def handle_client(connectionSocket, addr):
    sentence = connectionSocket.recv(1024).decode()
    print('Received from', addr, ':', sentence)
    capitalizedSentence = sentence.upper()
    connectionSocket.send(capitalizedSentence.encode())
    connectionSocket.close()


serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('The server is ready to receive')

while True:
    connectionSocket, addr = serverSocket.accept()
    # one thread per client so a slow client doesn't block the others
    t = threading.Thread(target=handle_client, args=(connectionSocket, addr))
    t.daemon = True
    t.start()
