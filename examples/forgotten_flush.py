# Why a forgotten flush() hangs: written bytes wait in the channel until flushed.
import gevent

from greensock.testing import socketPair

client, server = socketPair("tcp")  # two connected sockets over 127.0.0.1
with client, server:
    request, replies = client.openWriteChannel(), server.openReadChannel()

    request.writeStringUtf8("PING\n")  # buffered in the channel, not sent yet
    try:
        with gevent.Timeout(0.5):  # bound the wait, so this example cannot hang
            replies.readUTF8Line()
    except gevent.Timeout:
        print("nothing arrived: the line is still in the client's channel")

    request.flush()  # hands every pending byte to the kernel
    print("after flush:", replies.readUTF8Line())  # PING: the timed-out read lost nothing

    # openWriteChannel(autoFlush=True) flushes every write, at one system call per write.
