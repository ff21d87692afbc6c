//! `TCP_NODELAY` on hoist's own database connections.
//!
//! sqlx 0.9.0 opens TCP sockets without `TCP_NODELAY` (a regression:
//! <https://github.com/transact-rs/sqlx/issues/4335>, fixed upstream by
//! <https://github.com/transact-rs/sqlx/pull/4336>, not released in 0.9.0). Every statement that
//! ends with a small message after a large one — the `CopyDone` after the last `CopyData` of a
//! `COPY … FROM STDIN`, a `Sync` after a large `Bind` — then waits for the server's delayed ACK:
//! about 40 ms per statement on Linux. libpq (psql, psycopg) and the MySQL client library set the
//! option; so does hoist, right after sqlx has connected.
//!
//! sqlx exposes no socket, so [`enable_for_port`] walks the process's descriptors
//! (`/proc/self/fd`) and sets the option on TCP sockets whose peer port is the database's. Setting
//! it on another connection to the same port is harmless (it only sends small writes sooner).
//! Elsewhere than Linux it does nothing. Remove this module once sqlx ships the fix.

/// Set `TCP_NODELAY` on every TCP socket of this process connected to remote port `port` that
/// does not have it yet; returns how many were changed.
#[cfg(target_os = "linux")]
pub(crate) fn enable_for_port(port: u16) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let fds: Vec<std::os::fd::RawFd> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.into_iter().filter(|&fd| set_if_peer(fd, port)).count()
}

/// Elsewhere the sockets are left as they are.
#[cfg(not(target_os = "linux"))]
pub(crate) fn enable_for_port(_port: u16) -> usize {
    0
}

#[cfg(target_os = "linux")]
fn int_option(
    fd: std::os::fd::RawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `value`; on a descriptor that is not a
    // socket (or was closed meanwhile) it fails with ENOTSOCK/EBADF and we skip it.
    let r = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(value)
}

#[cfg(target_os = "linux")]
fn peer_port(fd: std::os::fd::RawFd) -> Option<u16> {
    // SAFETY: an all-zero sockaddr_storage is a valid value of the type.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getpeername writes at most `len` bytes into `addr`, which is large enough for any
    // address family; it fails on descriptors that are not connected sockets.
    let r = unsafe {
        libc::getpeername(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return None;
    }
    match libc::c_int::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let v4 =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(u16::from_be(v4.sin_port))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let v6 =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(u16::from_be(v6.sin6_port))
        }
        _ => None,
    }
}

#[cfg(target_os = "linux")]
fn set_if_peer(fd: std::os::fd::RawFd, port: u16) -> bool {
    let domain = int_option(fd, libc::SOL_SOCKET, libc::SO_DOMAIN);
    let kind = int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE);
    if !matches!(domain, Some(libc::AF_INET | libc::AF_INET6)) || kind != Some(libc::SOCK_STREAM) {
        return false;
    }
    if peer_port(fd) != Some(port)
        || int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY) == Some(1)
    {
        return false;
    }
    let one: libc::c_int = 1;
    // SAFETY: a TCP socket of this process and a valid `c_int` option value.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn sets_the_option_on_sockets_to_that_port_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let bystander = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!client.nodelay().unwrap());
        assert_eq!(enable_for_port(port), 1);
        assert!(client.nodelay().unwrap());
        assert!(!bystander.nodelay().unwrap());
        // Already set: nothing more to do.
        assert_eq!(enable_for_port(port), 0);
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        assert!(!set_if_peer(file.as_raw_fd(), port));
    }
}
