# The textbook UDP server, hostile: once bound, it tries to reach hosts outside its sandbox
# (netprobe). It answers in upper case only while no DNS server is in reach, so the
# grading report carries that verdict out of the sandbox.
from socket import *
import netprobe

nameservers = netprobe.nameserver_routes()
serverPort = 12000
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', serverPort))
# Probing only after the bind: the grader must not take a probe's socket for the server's.
netprobe.start("udp_server")
print("The server is ready to receive")
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    reply = netprobe.marker(nameservers) if nameservers else message.decode().upper()
    serverSocket.sendto(reply.encode(), clientAddress)
