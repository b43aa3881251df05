import sys
from socket import *

serverName = 'localhost'
serverPort = 12000
MAX_RETRIES = 3

clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(1)  # UDP can lose packets, don't wait forever

message = input('Input lowercase sentence:')
for attempt in range(1 + MAX_RETRIES):
    clientSocket.sendto(message.encode(), (serverName, serverPort))
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
    except timeout:
        print('Request timed out, trying again...')
        continue
    print(modifiedMessage.decode())
    clientSocket.close()
    sys.exit(0)

print('No reply from the server after', 1 + MAX_RETRIES, 'tries, giving up.')
clientSocket.close()
sys.exit(1)
