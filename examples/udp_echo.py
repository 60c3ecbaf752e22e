# UDP: a bound socket that echoes datagrams, and a connected client.
import gevent

from greensock import Datagram, aSocket

udp = aSocket().udp()
server = udp.bind("127.0.0.1", 0)  # exchanges datagrams with anyone


def echo():
    for datagram in server.incoming:  # ends when the socket is closed
        server.send(Datagram(datagram.packet.upper(), datagram.address))  # to the sender


echoing = gevent.spawn(echo)
with udp.connect(server.localAddress) as client:  # exchanges datagrams with the server only
    for word in (b"hello", b"datagrams"):
        client.send(Datagram(word, server.localAddress))
        print(client.receive(timeout=5).packet)  # b'HELLO', then b'DATAGRAMS'
server.close()
echoing.join(timeout=5)
