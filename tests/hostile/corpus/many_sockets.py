# @EXPECTED_RESULTS@: score=8 causes=none tcp_server.listening=passed tcp_server.basic=passed tcp_server.sequential_clients=passed
# Opens sockets until the file limit says no, keeps them, then serves like the textbook.
from socket import *

hoard = []
for _ in range(100000):
    try:
        s = socket(AF_INET, SOCK_DGRAM)
        s.bind(('', 0))
        hoard.append(s)
    except OSError:
        break
for s in hoard[-16:]:  # room for the server's own sockets
    s.close()
del hoard[-16:]

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(1)
while True:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode()
    connectionSocket.send(sentence.upper().encode())
    connectionSocket.close()
