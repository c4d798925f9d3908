// The translation unit each precompiled-header flavour is built with
// (cmake/Precompiled.cmake); it compiles to nothing.
