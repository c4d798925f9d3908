# LLVM's lld where it is installed (scripts/install-deps.sh installs it):
# GNU ld spent about a second on each test program's link, with its static
# libraries and -g1 line tables, and the suite links about ninety programs in
# each of its two trees; lld takes about a quarter of that. Both produce the
# same kind of executable, so nothing else changes; without lld the default
# linker is used. -DLANEVAULT_LLD=OFF chooses the default linker anyway.
option(LANEVAULT_LLD "Link with lld when it is installed" ON)
if(LANEVAULT_LLD)
  include(CheckLinkerFlag)
  check_linker_flag(CXX -fuse-ld=lld LANEVAULT_HAVE_LLD)
  if(LANEVAULT_HAVE_LLD)
    add_link_options(-fuse-ld=lld)
  endif()
endif()
