package seccomp

import "strings"

// defaultAllowed is docker's unconditional allow-list as it applies to
// x86_64, i386, aarch64 and arm, grouped by what the calls are for (each
// ABI's table leaves out the names it does not have). Everything else gets
// EPERM unless a rule in defaultRules allows it.
var defaultAllowed = [][]string{
	// files and directories
	strings.Fields(`access chdir chmod chown close close_range copy_file_range creat
		dup dup2 dup3 faccessat faccessat2 fadvise64 fallocate fchdir fchmod fchmodat
		fchmodat2 fchown fchownat fcntl fdatasync flock fstat fstatfs fsync ftruncate
		futimesat getcwd getdents getdents64 lchown link linkat lseek lstat mkdir
		mkdirat mknod mknodat name_to_handle_at newfstatat open openat openat2 pread64
		preadv preadv2 pwrite64 pwritev pwritev2 read readahead readlink readlinkat
		readv rename renameat renameat2 rmdir sendfile splice stat statfs statx
		symlink symlinkat sync sync_file_range syncfs tee truncate umask unlink
		unlinkat utime utimensat utimes vmsplice write writev cachestat statmount
		listmount`),
	// extended attributes
	strings.Fields(`fgetxattr flistxattr fremovexattr fsetxattr getxattr getxattrat
		lgetxattr listxattr listxattrat llistxattr lremovexattr lsetxattr removexattr
		removexattrat setxattr setxattrat`),
	// polling, events and asynchronous I/O
	strings.Fields(`epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait
		epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 fanotify_mark
		inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel
		io_destroy io_getevents io_pgetevents io_setup io_submit ioctl pipe pipe2 poll
		ppoll pselect6 select signalfd signalfd4 timerfd_create timerfd_gettime
		timerfd_settime`),
	// processes, threads and credentials
	strings.Fields(`capget capset execve execveat exit exit_group fork vfork wait4
		waitid getcpu getegid geteuid getgid getgroups getpgid getpgrp getpid getppid
		getpriority getresgid getresuid getrlimit get_robust_list getrusage getsid
		gettid getuid get_thread_area set_thread_area set_tid_address
		set_robust_list setfsgid setfsuid setgid setgroups setpgid setpriority
		setregid setresgid setresuid setreuid setrlimit setsid setuid prlimit64
		prctl ioprio_get ioprio_set rseq seccomp landlock_add_rule
		landlock_create_ruleset landlock_restrict_self pidfd_open pidfd_send_signal
		process_mrelease restart_syscall uretprobe sched_getaffinity sched_getattr
		sched_getparam sched_get_priority_max sched_get_priority_min
		sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr
		sched_setparam sched_setscheduler sched_yield futex futex_requeue futex_wait
		futex_waitv futex_wake`),
	// memory
	strings.Fields(`brk madvise map_shadow_stack membarrier memfd_create memfd_secret
		mincore mlock mlock2 mlockall mmap mprotect mremap mseal msync munlock
		munlockall munmap pkey_alloc pkey_free pkey_mprotect remap_file_pages`),
	// signals
	strings.Fields(`kill tgkill tkill pause rt_sigaction rt_sigpending rt_sigprocmask
		rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo
		sigaltstack`),
	// time
	strings.Fields(`adjtimex alarm clock_adjtime clock_getres clock_gettime
		clock_nanosleep getitimer gettimeofday nanosleep setitimer time timer_create
		timer_delete timer_getoverrun timer_gettime timer_settime times`),
	// sockets (socket itself is restricted below)
	strings.Fields(`accept accept4 bind connect getpeername getsockname getsockopt
		listen recvfrom recvmmsg recvmsg sendmmsg sendmsg sendto setsockopt shutdown
		socketpair`),
	// System V and POSIX IPC
	strings.Fields(`mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend
		mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop shmat
		shmctl shmdt shmget`),
	// system information
	strings.Fields(`getrandom sysinfo uname`),
	// the 32-bit ABIs' own calls (i386, arm), unknown to the 64-bit ones:
	// 32-bit uid and 64-bit offset variants, time64 variants, multiplexers
	strings.Fields(`chown32 fchown32 lchown32 getegid32 geteuid32 getgid32 getuid32
		getgroups32 getresgid32 getresuid32 setfsgid32 setfsuid32 setgid32
		setgroups32 setregid32 setresgid32 setresuid32 setreuid32 setuid32
		_llseek _newselect fadvise64_64 fcntl64 fstat64 fstatat64 fstatfs64
		ftruncate64 lstat64 mmap2 sendfile64 stat64 statfs64 truncate64 ugetrlimit
		waitpid sigprocmask sigreturn ipc socketcall clock_adjtime64
		clock_getres_time64 clock_gettime64 clock_nanosleep_time64 futex_time64
		io_pgetevents_time64 mq_timedreceive_time64 mq_timedsend_time64
		ppoll_time64 pselect6_time64 recvmmsg_time64 rt_sigtimedwait_time64
		sched_rr_get_interval_time64 semtimedop_time64 timer_gettime64
		timer_settime64 timerfd_gettime64 timerfd_settime64 utimensat_time64`),
}

// Namespace flags clone may not use without CAP_SYS_ADMIN: CLONE_NEWNS,
// CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
// CLONE_NEWNET (0x7E020000).
const cloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

// personalities docker allows: PER_LINUX, PER_LINUX32, UNAME26,
// UNAME26|PER_LINUX32, and 0xffffffff (query the current one).
var defaultPersonalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

// armSyscalls are arm's own calls docker allows on arm and arm64 hosts.
const armSyscalls = "arm_fadvise64_64 arm_sync_file_range breakpoint cacheflush set_tls"

// capSyscalls are allowed only when the container keeps the capability.
var capSyscalls = []struct {
	cap   string
	names string
}{
	{"CAP_SYS_ADMIN", `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick
		lookup_dcookie lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount
		mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd
		setdomainname sethostname setns syslog umount umount2 unshare`},
	{"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
	{"CAP_SYS_BOOT", "reboot"},
	{"CAP_SYS_CHROOT", "chroot"},
	{"CAP_SYS_MODULE", "delete_module init_module finit_module"},
	{"CAP_SYS_PACCT", "acct"},
	{"CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"},
	{"CAP_SYS_RAWIO", "iopl ioperm"},
	{"CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"},
	{"CAP_SYS_TTY_CONFIG", "vhangup"},
	{"CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
	{"CAP_SYSLOG", "syslog"},
	{"CAP_BPF", "bpf"},
	{"CAP_PERFMON", "perf_event_open"},
}

// Default returns lade's default filter, docker's default profile for
// x86_64 with its i386 sub-architecture and aarch64 with arm: EPERM for
// every syscall not allowed here.
func Default() *Profile {
	eperm, enosys := uint(1), uint(38)
	p := &Profile{DefaultAction: ActErrno, DefaultErrnoRet: &eperm, ArchMap: []ArchMap{
		{Architecture: abiX86_64.scmp, SubArchitectures: []string{abiX86.scmp, "SCMP_ARCH_X32"}},
		{Architecture: abiAArch64.scmp, SubArchitectures: []string{abiARM.scmp}}}}
	add := func(s Syscall) { p.Syscalls = append(p.Syscalls, s) }
	var all []string
	for _, g := range defaultAllowed {
		all = append(all, g...)
	}
	add(Syscall{Names: all, Action: ActAllow})
	// Since 4.8 seccomp runs after ptrace, so a tracer can no longer
	// bypass the filter; docker allows these from then on.
	add(Syscall{Names: []string{"process_vm_readv", "process_vm_writev", "ptrace"}, Action: ActAllow,
		Includes: &Condition{MinKernel: "4.8"}})
	// socket: every family but AF_ALG (38) and AF_VSOCK (40).
	for _, a := range []Arg{{Value: 38, Op: OpLessThan}, {Value: 39, Op: OpEqualTo}, {Value: 40, Op: OpGreaterThan}} {
		add(Syscall{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{a}})
	}
	for _, v := range defaultPersonalities {
		add(Syscall{Names: []string{"personality"}, Action: ActAllow, Args: []Arg{{Value: v, Op: OpEqualTo}}})
	}
	add(Syscall{Names: []string{"arch_prctl", "modify_ldt"}, Action: ActAllow,
		Includes: &Condition{Arches: []string{"amd64", "x32", "x86"}}})
	add(Syscall{Names: strings.Fields(armSyscalls), Action: ActAllow,
		Includes: &Condition{Arches: []string{"arm", "arm64"}}})
	for _, c := range capSyscalls {
		add(Syscall{Names: strings.Fields(c.names), Action: ActAllow, Includes: &Condition{Caps: []string{c.cap}}})
	}
	// Without CAP_SYS_ADMIN: clone without namespace flags, and clone3
	// (whose flags sit in memory a filter cannot read) fails with ENOSYS
	// so that libcs fall back to clone.
	noAdmin := &Condition{Caps: []string{"CAP_SYS_ADMIN"}}
	add(Syscall{Names: []string{"clone"}, Action: ActAllow, Excludes: noAdmin,
		Args: []Arg{{Index: 0, Value: cloneNamespaceFlags, Op: OpMaskedEqual}}})
	add(Syscall{Names: []string{"clone3"}, Action: ActErrno, ErrnoRet: &enosys, Excludes: noAdmin})
	return p
}
