# @EXPECTED_RESULTS@: score=7 causes=never-closes tcp_server.basic=passed tcp_server.sequential_clients=passed tcp_server.closes_after_reply=failed
# Answers each request correctly and never closes a connection.
from socket import *

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(64)
kept = []
while True:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024)
    connectionSocket.send(sentence.decode().upper().encode())
    kept.append(connectionSocket)
