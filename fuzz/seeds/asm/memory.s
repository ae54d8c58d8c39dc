stdw [%r10-8], 5
ldxdw %r1, [%r10-8]
stxw [%r10-16], %r1
ldxh %r0, [%r10-16]
lock fetch add [%r10-8], %r1
exit
