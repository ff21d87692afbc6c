//! `TCP_NODELAY` on the bench's own PostgreSQL connections, as libpq (psql, psycopg) sets it.
//!
//! sqlx 0.9.0 opens its TCP sockets without `TCP_NODELAY` (a regression:
//! <https://github.com/transact-rs/sqlx/issues/4335>, fixed upstream by
//! <https://github.com/transact-rs/sqlx/pull/4336>, not in 0.9.0). A `COPY … FROM STDIN` then
//! stalls about 40 ms at its end: the small `CopyDone` message waits (Nagle) for the server to
//! acknowledge the last `CopyData`, which the server delays (delayed ACK). The baseline is meant to
//! be PostgreSQL's COPY as `psql \copy` runs it, so the bench sets the option on its sockets
//! itself; sqlx exposes no socket, hence the walk over the process's file descriptors. The
//! measured `forge` processes are not touched: hoist pays the stall, and BENCHMARKS.md says how
//! much.

/// Set `TCP_NODELAY` on every TCP socket this process has open; returns how many were set.
#[cfg(target_os = "linux")]
pub fn enable_on_open_sockets() -> usize {
    use std::os::fd::RawFd;

    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let fds: Vec<RawFd> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.into_iter().filter(|&fd| set_if_tcp(fd)).count()
}

#[cfg(target_os = "linux")]
fn set_if_tcp(fd: std::os::fd::RawFd) -> bool {
    let int_opt = |level, name| -> Option<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`; on a descriptor that is
        // not a socket (or was closed meanwhile) it fails with ENOTSOCK/EBADF and we skip it.
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
    };
    let domain = int_opt(libc::SOL_SOCKET, libc::SO_DOMAIN);
    let kind = int_opt(libc::SOL_SOCKET, libc::SO_TYPE);
    if !matches!(domain, Some(libc::AF_INET | libc::AF_INET6)) || kind != Some(libc::SOCK_STREAM) {
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

/// Elsewhere the sockets are left as they are.
#[cfg(not(target_os = "linux"))]
pub fn enable_on_open_sockets() -> usize {
    0
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn sets_the_option_on_tcp_sockets_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(!client.nodelay().unwrap());
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(enable_on_open_sockets() >= 1);
        assert!(client.nodelay().unwrap());
        assert!(!set_if_tcp(udp.as_raw_fd()));
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        assert!(!set_if_tcp(file.as_raw_fd()));
    }
}
