"""Socket options (SPEC section 3): ``TypeOfService`` and the option kinds.

The kinds mirror ktor's ``SocketOptions`` hierarchy::

    SocketOptions                    typeOfService, reuseAddress, reusePort
    ├── AcceptorOptions              backlogSize                      (TCP bind)
    └── PeerSocketOptions            sendBufferSize, receiveBufferSize (tcp() builder)
        ├── TCPClientSocketOptions   noDelay, lingerSeconds, keepAlive, socketTimeout (connect)
        └── UDPSocketOptions         broadcast                        (udp() builder, UDP bind)

Every option is a typed, validated attribute. The check lives in one place — the attribute's
setter — so ``opts.reuseAddress = True``, ``SocketOptions(reuseAddress=True)``,
:func:`configure_options` and the builders' ``configure`` all go through it. Misspelt names
raise ``AttributeError`` (with a hint) instead of silently creating an attribute.

:mod:`greensock.sockopts` applies them to a kernel socket. ``backlogSize`` and
``socketTimeout`` are not socket options: the transports read them (``listen(backlogSize)``,
the no-progress timer).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, TypeVar, overload

__all__ = [
    "AcceptorOptions",
    "PeerSocketOptions",
    "SocketOptions",
    "TCPClientSocketOptions",
    "TypeOfService",
    "UDPSocketOptions",
    "configure_options",
]

# setsockopt() and listen() take a C int: a bigger Python int would only fail later, at
# bind/connect time, with an OverflowError far from the assignment that caused it.
_C_INT_MIN = -(2**31)
_C_INT_MAX = 2**31 - 1

# The JDK caps SO_LINGER at 65535 seconds (java.net.Socket.setSoLinger); so do we.
_MAX_LINGER_SECONDS = 65535


class TypeOfService:
    """The IP type-of-service byte (IPv4 ``IP_TOS``, IPv6 ``IPV6_TCLASS``).

    ``TypeOfService(value)`` keeps the low 8 bits of ``value`` (as ktor does), available as
    ``.value`` and ``.intValue``. Immutable, equal and hashable by value; never equal to a
    plain ``int``. Raises ``TypeError`` when ``value`` is not an ``int`` (``bool`` included).

    Note that Linux reserves the two low (ECN) bits of the TOS of TCP sockets for itself:
    ``IPTOS_LOWCOST`` (0x02) has no visible effect on a TCP connection there.
    """

    __slots__ = ("_value",)

    _value: int

    UNDEFINED: ClassVar[TypeOfService]
    """0: the option is not set; the system default applies."""
    IPTOS_LOWCOST: ClassVar[TypeOfService]
    """0x02: minimise monetary cost."""
    IPTOS_RELIABILITY: ClassVar[TypeOfService]
    """0x04: maximise reliability."""
    IPTOS_THROUGHPUT: ClassVar[TypeOfService]
    """0x08: maximise throughput."""
    IPTOS_LOWDELAY: ClassVar[TypeOfService]
    """0x10: minimise delay."""

    def __init__(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"TypeOfService value must be an int, not {type(value).__name__}")
        object.__setattr__(self, "_value", int(value) & 0xFF)

    @property
    def value(self) -> int:
        """The TOS byte, 0..255."""
        return self._value

    @property
    def intValue(self) -> int:
        """The TOS byte, 0..255 (ktor's name for :attr:`value`)."""
        return self._value

    def __int__(self) -> int:
        return self._value

    # Hidden from type checkers, which then flag assignments statically too.
    if not TYPE_CHECKING:

        def __setattr__(self, name: str, value: object) -> NoReturn:
            raise AttributeError(f"TypeOfService is immutable; cannot set {name!r}")

        def __delattr__(self, name: str) -> NoReturn:
            raise AttributeError(f"TypeOfService is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypeOfService):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash((TypeOfService, self._value))

    def __repr__(self) -> str:
        return f"TypeOfService(0x{self._value:02x})"

    def __reduce__(self) -> tuple[type[TypeOfService], tuple[int]]:
        return (TypeOfService, (self._value,))


TypeOfService.UNDEFINED = TypeOfService(0x00)
TypeOfService.IPTOS_LOWCOST = TypeOfService(0x02)
TypeOfService.IPTOS_RELIABILITY = TypeOfService(0x04)
TypeOfService.IPTOS_THROUGHPUT = TypeOfService(0x08)
TypeOfService.IPTOS_LOWDELAY = TypeOfService(0x10)


# --- one validated attribute -------------------------------------------------------------

_Get = TypeVar("_Get")
_Set = TypeVar("_Set")
_O = TypeVar("_O", bound="SocketOptions")


class _Option(Generic[_Get, _Set]):
    """A validated option attribute: reads give ``_Get``, assignments accept ``_Set``.

    The value lives in the owning options object's ``_values`` dict; ``check`` turns an
    assigned value into the stored one or raises ``TypeError``/``ValueError`` naming the
    option. It is the only validation of option values in greensock.
    """

    def __init__(self, default: _Get, check: Callable[[str, object], _Get], doc: str) -> None:
        self.name = ""
        self.default = default
        self._check = check
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Option[_Get, _Set]: ...

    @overload
    def __get__(self, obj: SocketOptions, owner: type | None = None) -> _Get: ...

    def __get__(
        self, obj: SocketOptions | None, owner: type | None = None
    ) -> _Get | _Option[_Get, _Set]:
        if obj is None:
            return self
        value: _Get = obj._values[self.name]
        return value

    def __set__(self, obj: SocketOptions, value: _Set) -> None:
        obj._values[self.name] = self.check(value)

    def check(self, value: object) -> _Get:
        """Return ``value`` as stored, or raise ``TypeError``/``ValueError`` naming the option."""
        return self._check(self.name, value)


def _type_error(name: str, wanted: str, value: object) -> TypeError:
    return TypeError(f"option {name!r} takes {wanted}, not {type(value).__name__} ({value!r})")


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _type_error(name, "a bool", value)
    return value


def _check_optional_bool(name: str, value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _type_error(name, "a bool or None", value)
    return value


def _int_between(low: int, high: int, rule: str) -> Callable[[str, object], int]:
    def check(name: str, value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(name, "an int", value)
        if not low <= value <= high:
            raise ValueError(f"option {name!r} {rule}, got {value}")
        return int(value)

    return check


def _check_seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _type_error(name, "a number of seconds (int or float) or None", value)
    seconds = float(value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(
            f"option {name!r} must be a finite number of seconds > 0 (None for no timeout), "
            f"got {value!r}"
        )
    return seconds


def _check_type_of_service(name: str, value: object) -> TypeOfService:
    if isinstance(value, TypeOfService):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return TypeOfService(value)
    raise _type_error(name, "a TypeOfService (or an int, wrapped in one)", value)


def _collect_options(cls: type) -> dict[str, _Option[Any, Any]]:
    """The options of ``cls``, base classes' first, in declaration order."""
    options: dict[str, _Option[Any, Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, _Option):
                options[name] = value
    return options


def _install_options(cls: Any) -> None:
    """Give an options kind its table of options and of their defaults."""
    cls._OPTIONS = _collect_options(cls)
    cls._DEFAULTS = {name: opt.default for name, opt in cls._OPTIONS.items()}


# --- the kinds ---------------------------------------------------------------------------


#: The option names two kinds share, by (from, to): a builder converts up to three times
#: per connect, and the set intersection cost more than the copying.
_SHARED_OPTIONS: dict[tuple[type[SocketOptions], type[SocketOptions]], tuple[str, ...]] = {}


class SocketOptions:
    """Options every socket has; what ``aSocket()``'s builder holds.

    Plain mutable objects: assign attributes, or pass them to the constructor
    (``SocketOptions(reuseAddress=True)``). Every assignment is checked: a ``bool`` option
    takes a ``bool``, an ``int`` option an ``int`` (not a ``bool``), ``socketTimeout`` an
    ``int``/``float`` or None; a wrong type raises ``TypeError`` and a value out of range
    ``ValueError``, both naming the option. An attribute that is not an option of this kind
    raises ``AttributeError`` (the constructor raises ``TypeError``, like any unknown keyword).

    The other kinds are reachable as attributes too (``SocketOptions.AcceptorOptions``), as
    ktor's nested classes are.
    """

    __slots__ = ("_values",)

    _values: dict[str, Any]
    _OPTIONS: ClassVar[dict[str, _Option[Any, Any]]]
    _DEFAULTS: ClassVar[dict[str, Any]]

    AcceptorOptions: ClassVar[type[AcceptorOptions]]
    PeerSocketOptions: ClassVar[type[PeerSocketOptions]]
    TCPClientSocketOptions: ClassVar[type[TCPClientSocketOptions]]
    UDPSocketOptions: ClassVar[type[UDPSocketOptions]]

    typeOfService = _Option[TypeOfService, TypeOfService | int](
        TypeOfService.UNDEFINED,
        _check_type_of_service,
        "IP type of service (IP_TOS, IPV6_TCLASS on IPv6); not set when UNDEFINED. "
        "An int is accepted and wrapped in a TypeOfService (low 8 bits).",
    )
    reuseAddress = _Option[bool, bool](
        False,
        _check_bool,
        "SO_REUSEADDR. TCP listeners get it whatever this says (except on Windows), as "
        "with the JDK, so that a closed server's port can be bound again at once.",
    )
    reusePort = _Option[bool, bool](
        False,
        _check_bool,
        "SO_REUSEPORT; applying it where the platform lacks it raises OSError (ENOPROTOOPT).",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _install_options(cls)

    def __init__(self, **options: object) -> None:
        # Defaults are immutable values: one shallow copy of the class's dict is a fresh set.
        object.__setattr__(self, "_values", dict(self._DEFAULTS))
        if options:
            configure_options(self, values=options)

    def copy(self: _O) -> _O:
        """Return an independent options object of the same kind with the same values."""
        clone = object.__new__(type(self))
        object.__setattr__(clone, "_values", dict(self._values))
        return clone

    def convertedTo(self, kind: type[_O]) -> _O:
        """Return a new options object of ``kind`` carrying every option the two kinds share.

        Options ``kind`` has and this one lacks get their defaults; options this one has and
        ``kind`` lacks are dropped. ``kind`` is one of the option classes (``TypeError``
        otherwise). The builders use it: ``tcp()`` converts to ``PeerSocketOptions``,
        ``connect`` to ``TCPClientSocketOptions``, and so on.
        """
        shared = _SHARED_OPTIONS.get((type(self), kind))
        if shared is None:
            if not (isinstance(kind, type) and issubclass(kind, SocketOptions)):
                raise TypeError(f"kind must be a SocketOptions class, not {kind!r}")
            shared = tuple(kind._OPTIONS.keys() & self._OPTIONS.keys())
            _SHARED_OPTIONS[type(self), kind] = shared
        converted = kind()
        mine = self._values
        theirs = converted._values
        for name in shared:
            theirs[name] = mine[name]
        return converted

    # Hidden from type checkers, which then flag a misspelt option statically too.
    if not TYPE_CHECKING:

        def __setattr__(self, name: str, value: object) -> None:
            if name not in self._OPTIONS:
                raise AttributeError(_unknown_option(type(self), name), name=name, obj=self)
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"options cannot be deleted ({name!r}); assign a value instead")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SocketOptions):
            return NotImplemented
        return type(self) is type(other) and self._values == other._values

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self._values.items())
        return f"{type(self).__name__}({values})"

    def __getstate__(self) -> dict[str, Any]:
        return dict(self._values)

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(state))


class AcceptorOptions(SocketOptions):
    """Options of a TCP server socket (what TCP ``bind`` uses)."""

    __slots__ = ()

    backlogSize = _Option[int, int](
        511,
        _int_between(1, _C_INT_MAX, "must be > 0"),
        "The listen() backlog: connections the kernel queues before accept() takes them.",
    )


class PeerSocketOptions(SocketOptions):
    """Options of a socket that talks to a peer; what the ``tcp()`` builder holds."""

    __slots__ = ()

    sendBufferSize = _Option[int, int](
        -1,
        _int_between(_C_INT_MIN, _C_INT_MAX, "must fit a C int"),
        "SO_SNDBUF in bytes, set only when > 0 (Linux doubles it and applies a floor).",
    )
    receiveBufferSize = _Option[int, int](
        -1,
        _int_between(_C_INT_MIN, _C_INT_MAX, "must fit a C int"),
        "SO_RCVBUF in bytes, set only when > 0 (Linux doubles it and applies a floor).",
    )


class TCPClientSocketOptions(PeerSocketOptions):
    """Options of a TCP connection made by ``connect``."""

    __slots__ = ()

    noDelay = _Option[bool, bool](
        True, _check_bool, "TCP_NODELAY: set when True (the default), left alone when False."
    )
    lingerSeconds = _Option[int, int](
        -1,
        _int_between(_C_INT_MIN, _MAX_LINGER_SECONDS, f"must be <= {_MAX_LINGER_SECONDS}"),
        "SO_LINGER in seconds, set only when >= 0 (0: close() resets the connection).",
    )
    keepAlive = _Option[bool | None, bool | None](
        None, _check_optional_bool, "SO_KEEPALIVE on or off; None leaves the system default."
    )
    socketTimeout = _Option[float | None, float | None](
        None,
        _check_seconds,
        "Seconds without progress on a read or write before the connection fails with "
        "SocketTimeoutException; None: never. Read by the transport, not a socket option.",
    )


class UDPSocketOptions(PeerSocketOptions):
    """Options of a UDP socket; what the ``udp()`` builder holds."""

    __slots__ = ()

    broadcast = _Option[bool, bool](
        False, _check_bool, "SO_BROADCAST: allow sending to broadcast addresses."
    )


_install_options(SocketOptions)
_KINDS: tuple[type[SocketOptions], ...] = (
    SocketOptions,
    AcceptorOptions,
    PeerSocketOptions,
    TCPClientSocketOptions,
    UDPSocketOptions,
)
SocketOptions.AcceptorOptions = AcceptorOptions
SocketOptions.PeerSocketOptions = PeerSocketOptions
SocketOptions.TCPClientSocketOptions = TCPClientSocketOptions
SocketOptions.UDPSocketOptions = UDPSocketOptions


def _unknown_option(kind: type[SocketOptions], name: str) -> str:
    """Say that ``name`` is no option of ``kind``, with the best hint we have."""
    message = f"{name!r} is not an option of {kind.__name__}"
    owners = [k.__name__ for k in _KINDS if name in k._OPTIONS]
    if owners:
        return f"{message}; it is an option of {owners[0]}"
    close = difflib.get_close_matches(name, list(kind._OPTIONS), n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return f"{message}; its options are: {', '.join(kind._OPTIONS)}"


# --- configuring -------------------------------------------------------------------------


def configure_options(
    options: _O,
    fn: Callable[[_O], object] | Mapping[str, object] | None = None,
    values: Mapping[str, object] | None = None,
) -> _O:
    """Apply ``fn`` and then ``values`` to ``options``, and return ``options`` (mutated).

    ``fn`` is a callable that receives ``options`` (its return value is ignored) or a
    mapping of option names to values; ``values`` is a mapping too. This is what the
    builders' ``configure(fn=None, **options)`` and the ``configure=`` argument of
    ``connect``/``bind`` call.

    A mapping is applied all or nothing, through the same checks as attribute assignment:
    a name that is no option of this kind raises ``TypeError`` naming it, a wrong type
    ``TypeError`` and an out-of-range value ``ValueError`` naming the option; in each case
    no value of that mapping has been applied. ``fn`` changes ``options`` as it runs.
    """
    if not isinstance(options, SocketOptions):
        raise TypeError(f"expected a SocketOptions object, not {type(options).__name__}")
    if isinstance(fn, Mapping):
        _apply_values(options, fn)
    elif fn is not None:
        if not callable(fn):
            raise TypeError(
                "configure takes a callable receiving the options, or a mapping of option "
                f"values, not {type(fn).__name__}"
            )
        fn(options)
    if values is not None:
        _apply_values(options, values)
    return options


def _apply_values(options: SocketOptions, values: Mapping[str, object]) -> None:
    if not isinstance(values, Mapping):
        raise TypeError(f"option values must be a mapping, not {type(values).__name__}")
    trial = options.copy()
    for name, value in values.items():
        if not isinstance(name, str) or name not in options._OPTIONS:
            raise TypeError(_unknown_option(type(options), str(name)))
        setattr(trial, name, value)
    for name in values:
        options._values[name] = trial._values[name]
