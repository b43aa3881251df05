# @EXPECTED_RESULTS@: score=1 causes=unexplained tcp_server.listening=passed tcp_server.basic=failed~"exchange timeout" tcp_server.sequential_clients=failed
# Accepts every connection and keeps it, and never reads a byte.
from socket import *

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(64)
kept = []
while True:
    connectionSocket, addr = serverSocket.accept()
    kept.append(connectionSocket)
