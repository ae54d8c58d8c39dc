mov %r11, 1
foo %r0
ja nowhere
exit
