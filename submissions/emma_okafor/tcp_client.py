"""TCP uppercase client - Emma Okafor, lab 2."""
import sys
from socket import *

SERVER_NAME = 'localhost'
SERVER_PORT = 12000
TIMEOUT = 3  # seconds


def main():
    sentence = input('Input lowercase sentence: ')
    try:
        clientSocket = create_connection((SERVER_NAME, SERVER_PORT), timeout=TIMEOUT)
    except OSError as e:
        print('Could not connect to the server:', e, file=sys.stderr)
        return 1
    with clientSocket:
        chunks = []
        try:
            clientSocket.sendall(sentence.encode())
            # the reply can arrive in pieces: read until the server closes
            while True:
                data = clientSocket.recv(1024)
                if not data:
                    break
                chunks.append(data)
        except timeout:
            if not chunks:
                print(f'No reply from the server within {TIMEOUT} s.', file=sys.stderr)
                return 1
        except OSError as e:
            print('Connection error:', e, file=sys.stderr)
            return 1
    print('From Server:', b''.join(chunks).decode(errors='replace'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
