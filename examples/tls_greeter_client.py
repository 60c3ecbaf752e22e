# Talks to tls_greeter.py over TLS, trusting the authority in CAFILE.
# python examples/tls_greeter_client.py CAFILE [PORT]   (default 9003)
import ssl
import sys

from greensock import aSocket

context = ssl.create_default_context(cafile=sys.argv[1])
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9003
with aSocket().tcp().connect("127.0.0.1", port, timeout=5) as plain:
    with plain.tls(context, serverName="localhost", timeout=5) as socket:
        connection = socket.connection()
        connection.output.writeStringUtf8("TLS\n")
        connection.output.flush()
        print(connection.input.readUTF8Line())  # Hello, TLS!
