# @EXPECTED_RESULTS@: score=0 causes=out-of-memory tcp_server.listening=failed~"ran out of memory and was killed" tcp_server.basic=failed~"ran out of memory"
# Touches memory until the kernel kills it; it never gets as far as binding.
from socket import *

hoard = []
while True:
    hoard.append(b"\x01" * (16 * 1024 * 1024))
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(1)
