mov %r0, 0x1234
be16 %r0
le32 %r0
bswap64 %r0
movsx816 %r1, %r0
exit
