/**
 * Linux errno values the posted host code returns (include/uapi/asm-generic/errno-base.h,
 * errno.h). Host functions return 0 or a negative errno, as the kernel does.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENXIO = 6;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;
export const ECANCELED = 125;

const NAMES: Record<number, string> = {
  [EPERM]: "EPERM", [ENOENT]: "ENOENT", [EIO]: "EIO", [ENXIO]: "ENXIO", [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM", [EFAULT]: "EFAULT", [EBUSY]: "EBUSY", [EEXIST]: "EEXIST", [ENODEV]: "ENODEV", [EINVAL]: "EINVAL",
  [ENOSYS]: "ENOSYS", [EOPNOTSUPP]: "EOPNOTSUPP", [ECANCELED]: "ECANCELED",
};

/** "-ENXIO" for -6, "0" for 0, the number for positive values (e.g. a raw RMI status). */
export function errnoName(r: number): string {
  if (r === 0) return "0";
  if (r < 0) return `-${NAMES[-r] ?? String(-r)}`;
  return String(r);
}
