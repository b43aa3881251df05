"""TCP uppercase server - Emma Okafor, lab 2 (one thread per client)."""
import sys
import threading
from socket import *

SERVER_PORT = 12000


def to_upper(data):
    return data.decode('utf-8', 'surrogateescape').upper().encode('utf-8', 'surrogateescape')


def handle(connectionSocket, addr):
    with connectionSocket:
        connectionSocket.settimeout(10)  # don't keep a thread forever for a silent client
        try:
            sentence = connectionSocket.recv(4096)
            connectionSocket.sendall(to_upper(sentence))
        except OSError as e:
            print('Client', addr, 'error:', e, file=sys.stderr)


def main():
    serverSocket = socket(AF_INET, SOCK_STREAM)
    serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    try:
        serverSocket.bind(('', SERVER_PORT))
    except OSError as e:
        print('Could not bind port', SERVER_PORT, ':', e, file=sys.stderr)
        sys.exit(1)
    serverSocket.listen(16)
    print('The server is ready to receive on port', SERVER_PORT)
    while True:
        try:
            connectionSocket, addr = serverSocket.accept()
        except OSError as e:
            print('accept failed:', e, file=sys.stderr)
            continue
        threading.Thread(target=handle, args=(connectionSocket, addr), daemon=True).start()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Server stopped')
