# Builders and options: set options on a builder, or for one connect or bind.
from greensock import TCPClientSocketOptions, TypeOfService, aSocket

# A builder holds options; configure() changes them in place and returns the builder.
tcp = aSocket().tcp().configure(reuseAddress=True)
tcp.configure(lambda options: setattr(options, "receiveBufferSize", 256 * 1024))
print(tcp.options)

# configure= applies to one call, on a copy of the builder's options of that call's kind:
# AcceptorOptions for bind, TCPClientSocketOptions for connect.
server = tcp.bind("127.0.0.1", 0, configure={"backlogSize": 128})


def client_options(options: TCPClientSocketOptions) -> None:
    options.keepAlive = True  # SO_KEEPALIVE
    options.socketTimeout = 30.0  # fail the connection after 30 s without progress
    options.typeOfService = TypeOfService.IPTOS_LOWDELAY


with server, tcp.connect("127.0.0.1", server.port, configure=client_options, timeout=5):
    with server.accept(timeout=5) as accepted:
        print("accepted", accepted.remoteAddress)

# A misspelt name, a wrong type or a value out of range fails at once, naming the option.
for mistake in ({"resueAddress": True}, {"reuseAddress": "yes"}):
    try:
        tcp.configure(**mistake)
    except TypeError as error:
        print("TypeError:", error)
try:
    aSocket().tcp().bind("127.0.0.1", 0, configure={"backlogSize": -1})
except ValueError as error:
    print("ValueError:", error)
