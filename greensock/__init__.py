"""greensock: ktor raw sockets for gevent."""
