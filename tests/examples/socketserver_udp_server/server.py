"""UDP uppercase server written with the socketserver module."""
import socketserver

HOST, PORT = "", 12000


class UppercaseHandler(socketserver.BaseRequestHandler):
    def handle(self):
        # for UDP, self.request is (data, socket)
        data, sock = self.request
        reply = data.decode().upper()
        sock.sendto(reply.encode(), self.client_address)


if __name__ == "__main__":
    with socketserver.UDPServer((HOST, PORT), UppercaseHandler) as server:
        print("UDP server ready on port", PORT)
        server.serve_forever()
