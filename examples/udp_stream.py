# A connected datagram socket as a byte stream: each flush is one datagram.
from greensock import aSocket

udp = aSocket().udp()
with udp.bind("127.0.0.1", 0) as receiver:
    with udp.connect(receiver.localAddress) as sender:
        output = sender.openWriteChannel()
        output.writeInt(42)
        output.writeStringUtf8("answer")
        output.flush()  # one 10-byte datagram
        datagram = receiver.receive(timeout=5)
        print(len(datagram.packet), datagram.packet)  # 10 b'\x00\x00\x00*answer'
