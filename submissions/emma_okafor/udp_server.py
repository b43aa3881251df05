"""UDP uppercase server - Emma Okafor, lab 2."""
import sys
from socket import *

SERVER_PORT = 12000
BUFFER_SIZE = 65535  # biggest possible UDP datagram, so nothing gets cut off


def to_upper(data):
    # surrogateescape keeps bytes that aren't valid UTF-8 as they are instead of crashing
    return data.decode('utf-8', 'surrogateescape').upper().encode('utf-8', 'surrogateescape')


def main():
    serverSocket = socket(AF_INET, SOCK_DGRAM)
    try:
        serverSocket.bind(('', SERVER_PORT))
    except OSError as e:
        print('Could not bind port', SERVER_PORT, ':', e, file=sys.stderr)
        sys.exit(1)
    print('The server is ready to receive on port', SERVER_PORT)
    while True:
        try:
            message, clientAddress = serverSocket.recvfrom(BUFFER_SIZE)
            serverSocket.sendto(to_upper(message), clientAddress)
        except OSError as e:
            # one bad client shouldn't take the server down
            print('Error:', e, file=sys.stderr)


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Server stopped')
