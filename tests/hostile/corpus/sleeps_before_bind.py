# @EXPECTED_RESULTS@: score=0 causes=bind-late tcp_server.listening=failed~"within the start-up time limit (20 s on the clock; it used" tcp_server.basic=failed~"start-up time limit"
# Sleeps for an hour before it binds: using no CPU, it meets the start-up limit's ceiling on the
# clock (4 x 5 s), once for every check, confirmed once by a second start alone.
from socket import *
import time

time.sleep(3600)
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', 12000))
serverSocket.listen(1)
