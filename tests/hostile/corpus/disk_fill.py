# @EXPECTED_RESULTS@: score=8 causes=none tcp_server.listening=passed tcp_server.basic=passed tcp_server.long_line=passed
# Fills every place it can write (and tries the ones it cannot), then serves like the textbook.
from socket import *
import os

chunk = b"\x00" * (1 << 20)
for place in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.getcwd(), "/", "/run", "/home"):
    for n in range(2000):  # 2 GB at most per place; the limits stop it far sooner
        try:
            with open(os.path.join(place, f"fill{n}"), "wb") as f:
                for _ in range(64):
                    f.write(chunk)
        except OSError:
            break

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(1)
while True:
    connectionSocket, addr = serverSocket.accept()
    sentence = connectionSocket.recv(1024).decode()
    connectionSocket.send(sentence.upper().encode())
    connectionSocket.close()
