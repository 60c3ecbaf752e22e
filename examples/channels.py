# Byte channels: typed reads and writes, and back-pressure, on the in-memory pipe.
import gevent

from greensock import ByteChannel, ByteReadChannel, TooLongLineException

# ByteReadChannel(content): fixed content, then end of stream.
source = ByteReadChannel(b"\x00\x00\x00\x2aanswer\nrest")
print(source.readInt(), source.readUTF8Line(), source.readRemaining())  # 42 answer b'rest'

# ByteChannel: a pipe between a writing and a reading greenlet, at most `capacity` unread.
pipe = ByteChannel(capacity=16)


def produce():
    for number in range(8):
        pipe.writeInt(number)  # blocks while 16 bytes are unread: back-pressure
    pipe.writeStringUtf8("done\n")
    pipe.close()  # flushes; the reader drains what is left, then sees end of stream


producer = gevent.spawn(produce)
print([pipe.readInt() for _ in range(8)], pipe.readUTF8Line(), pipe.readUTF8Line())
producer.get()  # [0, 1, ..., 7] done None

# Lines and delimited records; a limit protects memory, and a failed read consumes nothing.
records = ByteReadChannel("one\r\ntwo\nthree|a-much-longer-record|")
print(records.readUTF8Line(), records.readUTF8Line())  # one two (\r\n, \n, \r end lines)
print(records.readUntil(b"|", limit=8))  # b'three'
try:
    records.readUntil(b"|", limit=8)
except TooLongLineException:
    print("too long; still there:", records.readUntil(b"|"))  # b'a-much-longer-record'
print([len(chunk) for chunk in ByteReadChannel(bytes(100_000)).chunks()])  # [65536, 34464]
