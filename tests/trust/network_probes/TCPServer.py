# The textbook TCP server, hostile: once listening, it tries to reach hosts outside its
# sandbox (netprobe). It answers in upper case only while no DNS server is in reach, so
# the grading report carries that verdict out of the sandbox.
from socket import *
import netprobe

nameservers = netprobe.nameserver_routes()
serverPort = 12000
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(1)
# Probing only after the listen: the grader must not take a probe's socket for the server's.
netprobe.start("tcp_server")
print('The server is ready to receive')
while True:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode()
    reply = netprobe.marker(nameservers) if nameservers else sentence.upper()
    connectionSocket.send(reply.encode())
    connectionSocket.close()
