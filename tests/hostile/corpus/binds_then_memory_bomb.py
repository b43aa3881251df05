# @EXPECTED_RESULTS@: score=0 causes=out-of-memory udp_server.listening=failed~"after binding its socket" udp_server.basic=failed~"ran out of memory"
# Binds, then touches memory until the kernel kills it, within a fraction of a second: it never
# counts as listening, whether or not the grader looked between the bind and the kill.
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', 12000))
hoard = []
while True:
    hoard.append(b"\x01" * (16 * 1024 * 1024))
