# @EXPECTED_RESULTS@: score=1 causes=unexplained tcp_server.listening=passed tcp_server.basic=failed~"wrong reply" tcp_server.long_line=failed
# Answers every connection with a stream that never ends, and never reads.
from socket import *
import threading

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(64)


def stream(connectionSocket):
    junk = b"A" * 65536
    try:
        while True:
            connectionSocket.sendall(junk)
    except OSError:
        connectionSocket.close()


while True:
    connectionSocket, addr = serverSocket.accept()
    threading.Thread(target=stream, args=(connectionSocket,), daemon=True).start()
