# @EXPECTED_RESULTS@: score=1 causes=unexplained udp_server.listening=passed udp_server.basic=failed~"no reply at all"
# Binds, then writes to stdout and stderr as fast as it can, for ever.
from socket import *
import sys

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
line = "flood " * 200 + "\n"
while True:
    sys.stdout.write(line)
    sys.stderr.write(line)
