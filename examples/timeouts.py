# Three ways to bound a wait: timeout=, gevent.Timeout, and the socketTimeout option.
import time

import gevent

from greensock import SocketTimeoutException, aSocket

tcp = aSocket().tcp()
with tcp.bind("127.0.0.1", 0) as server:
    # 1. timeout= on accept, receive, tls, connect...: raises, consumes nothing.
    try:
        server.accept(timeout=0.2)
    except SocketTimeoutException:
        print("no connection within 0.2 s; the server is still usable")

    # 2. gevent.Timeout around any blocking call, or several: the connection stays intact.
    with tcp.connect("127.0.0.1", server.port, timeout=5) as client:
        with server.accept(timeout=5) as accepted:
            incoming = client.openReadChannel()
            try:
                with gevent.Timeout(0.2, TimeoutError("no answer in time")):
                    incoming.readUTF8Line()
            except TimeoutError as error:  # exactly what was thrown in, unchanged
                print("gevent.Timeout:", error)
            output = accepted.openWriteChannel(autoFlush=True)
            output.writeStringUtf8("late answer\n")
            print("read again:", incoming.readUTF8Line())  # the same channel still works

    # 3. socketTimeout: no progress for that long fails the connection itself.
    with tcp.connect("127.0.0.1", server.port, configure={"socketTimeout": 0.3}) as client:
        with server.accept(timeout=5):  # accepted, and never answers
            incoming = client.openReadChannel()
            started = time.monotonic()
            for attempt in (1, 2):
                try:
                    incoming.readUTF8Line()
                except SocketTimeoutException:  # a TimeoutError
                    print(f"read {attempt}: SocketTimeoutException", end=" ")
                    print(f"after {time.monotonic() - started:.1f} s")  # the 2nd at once
