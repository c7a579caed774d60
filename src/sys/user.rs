//! Users and groups: our ids and the reentrant passwd/group lookups (`getpwnam_r`,
//! `getpwuid_r`, `getgrnam_r`, `getgrouplist`) script execution needs.

use std::ffi::{CStr, CString};
use std::io;

/// Our real user id.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail and has no preconditions.
    unsafe { libc::getuid() }
}

/// Our effective user id.
#[cfg_attr(not(test), allow(dead_code))]
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// Our real group id.
pub fn gid() -> u32 {
    // SAFETY: getgid cannot fail and has no preconditions.
    unsafe { libc::getgid() }
}

fn buf_len(which: libc::c_int) -> usize {
    // SAFETY: sysconf is always safe to call.
    let n = unsafe { libc::sysconf(which) };
    if n > 0 {
        n as usize
    } else {
        16 * 1024
    }
}

/// getpwnam_r: (uid, gid) of a user name.
pub fn lookup_user(name: &str) -> io::Result<Option<(u32, u32)>> {
    let cname = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut len = buf_len(libc::_SC_GETPW_R_SIZE_MAX);
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: zeroed passwd is a valid out-parameter; buffers live across the call.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr(), len, &mut res) };
        if rc == libc::ERANGE && len < 1 << 20 {
            len *= 2;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!res.is_null()).then_some((pwd.pw_uid, pwd.pw_gid)));
    }
}

/// getpwuid_r: (name, gid) of a uid.
pub fn lookup_uid(uid: u32) -> Option<(String, u32)> {
    let len = buf_len(libc::_SC_GETPW_R_SIZE_MAX).max(16 * 1024);
    let mut buf = vec![0 as libc::c_char; len];
    // SAFETY: as in lookup_user.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), len, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf, NUL-terminated.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some((name, pwd.pw_gid))
}

/// getgrnam_r: gid of a group name.
pub fn lookup_group(name: &str) -> io::Result<Option<u32>> {
    let cname = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut len = buf_len(libc::_SC_GETGR_R_SIZE_MAX);
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        // SAFETY: zeroed group is a valid out-parameter; buffers live across the call.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = std::ptr::null_mut();
        let rc =
            unsafe { libc::getgrnam_r(cname.as_ptr(), &mut grp, buf.as_mut_ptr(), len, &mut res) };
        if rc == libc::ERANGE && len < 1 << 20 {
            len *= 2;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!res.is_null()).then_some(grp.gr_gid));
    }
}

pub fn group_list(user: &str, gid: u32) -> Vec<u32> {
    let Ok(cuser) = CString::new(user) else {
        return Vec::new();
    };
    let mut n: libc::c_int = 32;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let mut count = n;
        // SAFETY: groups has room for `count` entries.
        let rc =
            unsafe { libc::getgrouplist(cuser.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(count as usize);
            return groups;
        }
        if count <= n || n > 65536 {
            return Vec::new();
        }
        n = count;
    }
}
