# @EXPECTED_RESULTS@: score=0 tcp_server.listening=failed~"within the start-up time limit (5 s)" tcp_server.basic=failed~"start-up time limit"
# Sleeps for an hour before it binds: the start-up limit ends the wait, once for every check.
from socket import *
import time

time.sleep(3600)
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(1)
