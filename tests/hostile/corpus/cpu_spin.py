# @EXPECTED_RESULTS@: score=1 causes=unexplained udp_server.listening=passed udp_server.basic=failed~"no reply at all" udp_server.lossy=failed
# Binds, then spins on the CPU for ever without reading a datagram.
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
n = 0
while True:
    n += 1
