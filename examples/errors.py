# What raises what: each error is a documented type, raised at the call that caused it.
import errno
import socket as stdlib_socket

import gevent

from greensock import (
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ConcurrentIOException,
    aSocket,
)
from greensock.testing import socketPair

tcp = aSocket().tcp()

# A closed port: ConnectionRefusedError, naming what was tried.
with tcp.bind("127.0.0.1", 0) as server:
    port = server.port  # free once the server is closed
try:
    tcp.connect("127.0.0.1", port, timeout=5)
except ConnectionRefusedError as error:
    print("refused:", error)

# A port in use: OSError with errno.EADDRINUSE.
with tcp.bind("127.0.0.1", 0) as server:
    try:
        tcp.bind("127.0.0.1", server.port)
    except OSError as error:
        print("in use:", error.errno == errno.EADDRINUSE)

# A malformed host name (a label over 63 characters) is socket.gaierror, checked locally.
try:
    tcp.connect("a" * 64 + ".invalid", 80, timeout=5)
except stdlib_socket.gaierror as error:
    print("gaierror:", error.errno == stdlib_socket.EAI_NONAME)

# End of stream is no error for readAvailable or readUTF8Line; exact reads raise EOFError.
client, server = socketPair("tcp")
with client, server:
    output, incoming = client.openWriteChannel(), server.openReadChannel()
    output.writeStringUtf8("ab")
    output.close()  # half-close: the server sees the end of the stream after "ab"
    try:
        incoming.readInt()  # needs 4 bytes, only 2 will ever come
    except ClosedReceiveChannelException:  # an EOFError; nothing was consumed
        print("EOF; still readable:", incoming.readUTF8Line(), incoming.readUTF8Line())

# Closing a socket wakes the greenlet blocked on it, and a second reader is refused.
client, server = socketPair("tcp")
with client, server:
    incoming = server.openReadChannel()

    def read_line():
        try:
            return incoming.readUTF8Line()
        except ClosedReadChannelException:
            return "woke with ClosedReadChannelException"

    reader = gevent.spawn(read_line)
    gevent.sleep(0.1)  # let it block
    try:
        incoming.readUTF8Line()
    except ConcurrentIOException as error:
        print("second reader:", error)
    server.close()
    print("blocked reader:", reader.get(timeout=5))
