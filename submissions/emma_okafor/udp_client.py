"""UDP uppercase client - Emma Okafor, lab 2."""
import sys
from socket import *

SERVER_NAME = 'localhost'
SERVER_PORT = 12000
TIMEOUT = 1      # seconds to wait for each reply
RETRIES = 3      # extra attempts if a datagram gets lost


def main():
    message = input('Input lowercase sentence: ')
    with socket(AF_INET, SOCK_DGRAM) as clientSocket:
        clientSocket.settimeout(TIMEOUT)
        for attempt in range(1 + RETRIES):
            try:
                clientSocket.sendto(message.encode(), (SERVER_NAME, SERVER_PORT))
                reply, serverAddress = clientSocket.recvfrom(65535)
            except timeout:
                print(f'No reply (attempt {attempt + 1}), retrying...', file=sys.stderr)
                continue
            except OSError as e:
                print('Network error:', e, file=sys.stderr)
                return 1
            print(reply.decode(errors='replace'))
            return 0
    print(f'Server did not answer after {1 + RETRIES} attempts.', file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
