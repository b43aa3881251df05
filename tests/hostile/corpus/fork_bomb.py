# @EXPECTED_RESULTS@: score=1 causes=unexplained udp_server.listening=passed udp_server.basic=failed~"no reply at all"
# Binds, then every process forks for ever: the pids limit (64) stops the bomb, not the host.
from socket import *
import os

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
while True:
    try:
        os.fork()
    except OSError:
        pass
