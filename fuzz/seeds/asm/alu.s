mov %r0, 1
add %r0, 2
mul32 %r0, 3
lsh %r0, 60
arsh %r0, 4
neg %r0
exit
