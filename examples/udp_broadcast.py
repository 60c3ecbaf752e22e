# Broadcasting needs the broadcast option; this example stays on loopback.
from greensock import Datagram, aSocket

udp = aSocket().udp()
with udp.bind("127.0.0.1", 0) as listener:
    with udp.bind("127.0.0.1", 0, configure={"broadcast": True}) as beacon:
        # On a LAN: listeners bind "0.0.0.0" on an agreed port, and the beacon sends to the
        # subnet's broadcast address on that port (`ip addr` shows it, after "brd");
        # without broadcast=True such a send raises PermissionError. Here the beacon sends
        # to the loopback listener instead.
        beacon.send(Datagram(b"hello, LAN", listener.localAddress))
        datagram = listener.receive(timeout=5)
        print(datagram.packet, "from", datagram.address)
